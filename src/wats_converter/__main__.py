from wats_converter.cli import main

main()
