// Replaced when the engine layer is implemented.
