"""The test server itself: mail placed with APPEND is there, and mailboxes are separate."""


def test_appended_mail_is_in_the_mailbox_and_only_in_that_one(dovecot, mailbox):
    raw = b"From: a@example.jp\r\nSubject: hello\r\n\r\nbody\r\n"
    uid = mailbox.append(raw)
    assert mailbox.uids() == [uid]
    assert mailbox.messages() == [raw]
    assert dovecot.new_mailbox().uids() == []
