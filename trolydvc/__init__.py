"""Trợ lý Dịch vụ công: domain code shared by the bot, the actions and the CLI.

Keep this module import-light: the Rasa environment (Python 3.10) imports
`trolydvc.textnorm` and the NLU components from here without the project's
dependencies installed.
"""

__version__ = "0.1.0"
