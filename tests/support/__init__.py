"""Helpers the tests share: real module tools, tiny wheels and the test sdist, stand-ins."""
