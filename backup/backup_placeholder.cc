// Replaced when the backup layer is implemented.
