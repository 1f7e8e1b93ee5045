"""Through the HTTP test client: the JSON API, the pages and Twilio's webhooks."""
