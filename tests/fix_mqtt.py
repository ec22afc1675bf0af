"""MQTT broker fixtures (private broker per test session)."""
