// Replaced by the kernel implementation.
