"""Distribution: strategies by name, TF_CONFIG, formation, watchdog, coordinated pre-emption."""
