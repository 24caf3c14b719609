# RoomSignal server image. Build from the repository root:
#   docker build -t roomsignal/server .
# The base images are build arguments so that a mirror or a local base can stand in for Microsoft's registry:
#   --build-arg SDK_IMAGE=registry.example/dotnet/sdk:10.0 --build-arg RUNTIME_IMAGE=registry.example/dotnet/aspnet:10.0
# PREBUILT names a directory in the build context that already holds `dotnet publish` output; the image then uses it
# instead of publishing (scripts/docker-local-images.sh does this where nothing can be pulled; see docs/operations.md).
# Works with the classic builder (docker-compose 1.29) and with BuildKit.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ARG PREBUILT=
WORKDIR /src
COPY . .
# The server's build bundles the browser SDK and demo from client-js with npm, which the SDK image lacks.
RUN if [ -n "$PREBUILT" ]; then cp -a "$PREBUILT" /app; \
    else (command -v npm >/dev/null || (apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*)) \
      && dotnet publish src/RoomSignal.Server -c Release -o /app -nologo; fi \
    && test -f /app/RoomSignal.Server.dll

FROM ${RUNTIME_IMAGE}
# The unprivileged user of the official .NET images (the local base creates the same uid).
ARG APP_UID=1654
WORKDIR /app
COPY --from=build /app .
# appsettings.json listens on localhost only; in a container listen on every interface (or set Urls / --urls).
ENV Urls=http://0.0.0.0:8080 \
    DOTNET_ENVIRONMENT=Production
EXPOSE 8080
USER ${APP_UID}
# No HEALTHCHECK (the runtime images have no curl): probe GET /healthz (liveness) and GET /readyz (readiness: 503 while
# Redis is unreachable or the node is full) from the orchestrator or the load balancer.
ENTRYPOINT ["dotnet", "RoomSignal.Server.dll"]
