"""Compatibility helpers, as libraries write them."""

import os
import sys

__all__ = ["text_type", "load", "Config"]

DEFAULT_ENCODING = "utf-8"

try:
    import simplejson as json
except ImportError:
    import json

try:
    from functools import cache
except ImportError:
    def cache(func):
        return func

if sys.version_info >= (3, 0):
    text_type = str
    binary_type = bytes

    def to_text(value):
        return value if isinstance(value, str) else value.decode(DEFAULT_ENCODING)
else:
    text_type = unicode  # noqa: F821
    binary_type = str

    def to_text(value):
        return value

if os.name == "nt":
    PATH_SEP = "\\"
elif os.name == "posix":
    PATH_SEP = "/"
else:
    PATH_SEP = os.sep

with open(os.devnull) as _null:
    NULL_DEVICE = _null.name

for _name in ("a", "b"):
    pass

MAX_SIZE: int = 1 << 20
first, second = 1, 2


class Config:
    """Settings read from a file."""

    defaults = {"debug": False}
    level: int = 0

    def __init__(self, path):
        self.path = path

    @property
    def debug(self):
        return self.defaults["debug"]

    @staticmethod
    def parse(text):
        return json.loads(text)

    class Section:
        def get(self, key):
            return key


@cache
def load(path):
    with open(path, encoding=DEFAULT_ENCODING) as f:
        return Config.parse(f.read())


async def fetch(url):
    return url


def main():
    local_only = load(sys.argv[1])
    return local_only


if __name__ == "__main__":
    main()
