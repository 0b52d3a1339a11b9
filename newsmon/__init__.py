"""newsmon: monitor the news about the Armenia-Azerbaijan conflict over Nagorno-Karabakh."""

__version__ = "0.1.0"
