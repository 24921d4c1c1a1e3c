"""A local stand-in for the part of Kubernetes the tutorial uses: `python manage.py sandbox`."""
