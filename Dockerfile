# One image for every pod: the consumer k8s-combat (dashboard on) and the provider k8s-combat-service.
# make image   (then load it into kind/minikube; see the README)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY requirements.lock ./
RUN /venv/bin/pip install --no-deps -r requirements.lock
COPY manage.py ./
COPY combat_app ./combat_app
COPY dashboard ./dashboard
COPY static ./static
COPY locale ./locale
# The Chinese page: compile the .po sources with Babel, kept out of the runtime virtualenv.
RUN pip install --no-cache-dir --target /tmp/babel babel==2.18.0 \
    && for domain in django djangojs; do PYTHONPATH=/tmp/babel python -m babel.messages.frontend compile -d locale -D $domain; done
# The key only satisfies the settings while collecting; it is not kept in the image.
RUN DJANGO_SECRET_KEY=collectstatic-only /venv/bin/python manage.py collectstatic --no-input --verbosity 0

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_ARENA_MAX=2 \
    PATH=/venv/bin:$PATH
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
# Numeric, so that runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8081
EXPOSE 50051
# uvicorn, run by combat_app.serving: it adds the readiness drain on SIGTERM and exits 0.
CMD ["python", "-m", "combat_app.serving", "--host", "0.0.0.0", "--port", "8081"]
