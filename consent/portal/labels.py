"""The portal's labels: ``appkit.labels``, shared with the other app.

Kept so that imports of this module keep working; new code imports
``appkit.labels`` directly.
"""

from appkit.labels import Labels, load_labels

__all__ = ["Labels", "load_labels"]
