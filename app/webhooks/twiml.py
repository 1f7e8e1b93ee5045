"""TwiML answers built with the Twilio SDK; every spoken text is a message template."""

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

from notifications.outbox import render_message

# Say's language and a voice that speaks it (Amazon Polly through Twilio).
VOICES = {"ja": ("ja-JP", "Polly.Mizuki"), "en": ("en-US", "Polly.Joanna")}
DESK_LOCALE = "ja"  # callers to the desk number are answered in Japanese


def spoken(template, locale, **context):
    """The text of templates/messages/<locale>/<template>.voice.txt."""
    return render_message(template, "voice", locale, context)[1]


def say_text(verb, text, locale):
    """Add a <Say> of `text`, in the locale's language and voice, to `verb`."""
    language, voice = VOICES.get(locale, VOICES["ja"])
    verb.say(text, language=language, voice=voice)
    return verb


def say(verb, template, locale, **context):
    """Add a <Say> of the template, in the locale's language and voice, to `verb`."""
    return say_text(verb, spoken(template, locale, **context), locale)


def speak_and_hang_up(template, locale, **context):
    """A whole answer: say one text, then end the call."""
    response = say(VoiceResponse(), template, locale, **context)
    response.hangup()
    return response


def twiml(response):
    """The Flask response carrying a TwiML document."""
    return Response(str(response), mimetype="text/xml")
