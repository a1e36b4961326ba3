# Convenience wrappers; tasks.py does the work (and also runs where make does not exist).
.PHONY: run test bench screenshots
run:
	python3 tasks.py run
test:
	python3 tasks.py test
