from kidshield.cli import main

main()
