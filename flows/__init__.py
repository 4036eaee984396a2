"""Conversation logic: the flow state machines, reading client text, and the replies they send."""
