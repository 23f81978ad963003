"""Alerts: rules evaluated after every run (rules), one digest per run (digest), sent through Apprise
(deliver), joined to storage by `monitor.alerts.service`."""
