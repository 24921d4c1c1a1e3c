"""k8s-combat: the tutorial's app, in Python, run by every pod (consumer and providers alike)."""
