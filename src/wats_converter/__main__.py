import os
import sys

from wats_converter.cli import main

# `python -m` puts the working directory first on the import path, the console script does not:
# drop it, so a converter's `module_path` resolves the same in both (see `converter_paths`).
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

main()
