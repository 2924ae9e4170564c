"""The web app (one process, FastAPI): the sample commune page with the chat widget, the widget's
API in front of Rasa's REST channel (:mod:`.chat`), and the officials' dashboard."""
