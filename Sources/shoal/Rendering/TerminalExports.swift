// Tables, sparklines and `shoal top`'s frame live in a library so that tests can link them
// (the `shoal` executable is linked with the static runtime, which a test bundle cannot be).
@_exported import ShoalTerminal
