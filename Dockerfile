# The app in a container:  docker build -t rnnviz . && docker run --rm -p 8501:8501 rnnviz
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# Installed as a package (app.py and pages/ included), so the source tree is not needed afterwards.
COPY . /tmp/rnnviz
RUN pip install /tmp/rnnviz && rm -rf /tmp/rnnviz && useradd --create-home rnnviz

USER rnnviz
WORKDIR /home/rnnviz
EXPOSE 8501
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=3)"]
CMD ["rnnviz", "app", "--server.address", "0.0.0.0"]
