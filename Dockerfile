# syntax=docker/dockerfile:1
# clerk: one image for every worker type and the CLI. Native tesseract and poppler do the OCR and
# page rendering. The CLI is compiled and the workflow code bundled once, in the image (bin/build.mjs):
# every container starts in plain Node and its workflow worker loads the prebuilt bundle.

# --- dependencies: compilers only here, in case a native addon has no prebuilt binary ---------
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies (typescript, vitest) are not needed to run or build: esbuild and tsx are runtime dependencies.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa tesseract-ocr-fra tesseract-ocr-osd poppler-utils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    CLERK_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
# dist/: the compiled CLI and the workflow bundle; bin/clerk.mjs runs them while they match src/.
RUN node bin/build.mjs
# The data volume is created from this folder, so it starts out owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
# PDF child scripts are compiled to plain JS on first use, into this cache inside node_modules.
RUN mkdir -p node_modules/.cache/clerk-children && chown -R node:node node_modules/.cache
USER node
VOLUME ["/data"]
# Every service names its own command, e.g. `node bin/clerk.mjs worker ocr`.
CMD ["node", "bin/clerk.mjs", "--help"]
