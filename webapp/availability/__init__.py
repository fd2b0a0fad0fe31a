"""Availability (#21): working hours, booking rules, busy time and the one engine that
says when a user is free and why not (webapp.availability.engine)."""
