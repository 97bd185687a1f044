# Two commands on a fresh machine (Python >= 3.10, make, and redis-server for the service and tests):
#   make serve   set everything up, run the service on 127.0.0.1:8000 with the shipped model
#   make test    set everything up, run the test suite (.ci/run runs this)
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: test serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	@test -f var/keys.json || $(VENV)/bin/spamgate keys add --site example --role admin
	$(VENV)/bin/spamgate serve

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/speed.py
	$(VENV)/bin/python bench/adversarial.py
	$(VENV)/bin/python bench/quality.py
	$(VENV)/bin/python bench/rules.py
	$(VENV)/bin/python bench/load.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
