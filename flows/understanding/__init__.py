"""Reading what a client means from free text, in English and Danish: intents, services, language, names."""
