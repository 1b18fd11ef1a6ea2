"""Helpers the tests share: real module tools, tiny wheels and sdists, generated prefixes."""
