from kidshield.launch import entry

entry()
