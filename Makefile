# k8s-combat: `make run` starts it locally, `make test` proves it. Both need only python3.11 and make.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IMAGE ?= k8s-combat:dev
NAMESPACE ?= default
LOCAL := .sandbox
# What manage.py needs on a laptop: a key made once, and the database beside the sandbox's state.
DJANGO := DJANGO_SECRET_KEY_FILE=$(LOCAL)/secret-key DATABASE_PATH=$(LOCAL)/db.sqlite3
SANDBOX_ARGS ?=


.PHONY: run test lint bench image deploy clean screenshot

$(STAMP): pyproject.toml requirements.lock requirements-test.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements-test.lock -e '.[sandbox,test,postgres]'
	touch $(STAMP)

$(LOCAL)/secret-key:
	mkdir -p $(LOCAL)
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# The Chinese page: .po files are the source; the compiled .mo files are built, never committed.
MESSAGES := locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/djangojs.mo
locale/%.mo: locale/%.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ >/dev/null

## run: install, then start the local cluster with the dashboard on http://127.0.0.1:8081/
run: $(STAMP) $(LOCAL)/secret-key $(MESSAGES)
	$(DJANGO) $(BIN)/python manage.py migrate --no-input --verbosity 0
	$(DJANGO) $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(DJANGO) exec $(BIN)/python manage.py sandbox $(SANDBOX_ARGS)

## test: install, lint, and run the whole test suite
test: $(STAMP) $(MESSAGES)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SECRET_KEY=collectstatic-only $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## docs/page.png: the README's picture, the page at 1440x900 after "Compare the modes" (a browser test)
docs/page.png: $(STAMP) $(MESSAGES) $(wildcard static/dashboard/*) $(wildcard dashboard/templates/dashboard/*)
	DJANGO_SECRET_KEY=collectstatic-only $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	K8S_COMBAT_SCREENSHOT=$@ $(BIN)/python -m pytest -q tests/test_compare_modes.py -k the_button_compares

screenshot: docs/page.png

## bench: the benchmarks behind docs/performance.md
bench: $(STAMP)
	$(BIN)/python bench/ping_throughput.py

## image: build the one image every pod runs (needs a Docker engine)
image:
	docker build -t $(IMAGE) .

## deploy: apply the manifests to the current kubectl context, with a Secret made once
deploy:
	kubectl -n $(NAMESPACE) get secret k8s-combat >/dev/null 2>&1 || \
		kubectl -n $(NAMESPACE) create secret generic k8s-combat \
			--from-literal=secret-key="$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
	kubectl -n $(NAMESPACE) apply -k manifests/base

clean:
	rm -rf $(VENV) $(LOCAL) staticfiles .pytest_cache .ruff_cache .hypothesis
