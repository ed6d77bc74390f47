# Thin wrapper around tasks.py (which needs nothing but Python 3.11).
.PHONY: lab test setup build bench readme
lab test setup build bench readme:
	python3 tasks.py $@
