"""Reminders: their rules (webapp.reminders.rules) and the sweep that sends them
(webapp.reminders.sweep, job side)."""
