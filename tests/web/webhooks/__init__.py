"""Twilio's webhooks, signed like Twilio signs them."""
