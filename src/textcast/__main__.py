from textcast.cli import main

main()
