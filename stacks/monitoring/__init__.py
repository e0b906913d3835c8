"""Notification topics and alarms."""
