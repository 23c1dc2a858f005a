# One image for the API, the indexer and the dashboard (docker-compose.yml picks the command).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY api ./api
COPY catalog ./catalog
COPY dashboard ./dashboard
COPY db ./db
COPY indexer ./indexer
COPY media ./media
COPY search ./search
COPY stack ./stack
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000 8501
CMD ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
