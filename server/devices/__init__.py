"""Device health: status from heartbeat age, alerts, and the alert webhook."""
