"""The e-mail channel: received mail into incidents and conversations, desk replies out
through the outbox, the unmatched list, organizations' mail domains, the mailbox poller."""
