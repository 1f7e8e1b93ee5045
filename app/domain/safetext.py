"""Text and JSON no column can hold: NUL (PostgreSQL refuses it in text) and lone surrogates
(not encodable as UTF-8), and JSON nested deeper than any request of ours needs.

Pure: the request boundary (app/web/inputs.py) and the alert parsers ask these.
"""

import re

MAX_JSON_DEPTH = 64
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def unsafe(text):
    """True when the text holds a NUL or a lone surrogate."""
    return isinstance(text, str) and _UNSAFE.search(text) is not None


def escaped(text):
    """The text with NUL and lone surrogates written as \\uXXXX (to keep a refused body)."""
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def json_problem(document, max_depth=MAX_JSON_DEPTH):
    """Why a parsed JSON document is refused ('too deep', or the path of an unsafe string or
    key), or None. Iterative, so any depth is walked without recursion."""
    stack = [(document, 1, "$")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict | list) and depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if unsafe(key):
                    return f"a key in {path[:120]} holds a NUL or a lone surrogate"
                stack.append((item, depth + 1, f"{path}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{index}]")
                         for index, item in enumerate(value))
        elif unsafe(value):
            return f"{path[:120]} holds a NUL or a lone surrogate"
    return None
