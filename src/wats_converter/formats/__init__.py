"""Report file formats read by more than one part of the package (a converter and the local
server): below both, so neither imports the other."""
