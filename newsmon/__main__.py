from newsmon.interface.cli import main

main()
