"""DOStorage with L3 on (`archive_binding = "ARCHIVE"`, the harness's local R2 bucket), for
tests/integration/test_archive.py, plus two routes onto the bucket itself, so a test can
see that the binding is a real bucket that keeps its objects across a restart:

    PUT /r2/:key    store the body under `key`        GET /r2/:key    the body, or 404
"""

from dotdo import DOStorage, TierOptions, json_response
from dotdo.core.http import HttpResponse
from dotdo.storage.archive import ArchiveOptions
from dotdo.storage.buckets import R2Bucket


class HarnessArchive(DOStorage):
    archive_binding = "ARCHIVE"
    storage_options = TierOptions(segment_events=4)  # packed event segments seal at 4 events
    archive_options = ArchiveOptions(segment_events=5)  # so an archived segment is one of them

    def routes(self, router):
        super().routes(router)
        router.put("/r2/:key", scope="admin")(self._put_object)
        router.get("/r2/:key", scope="admin")(self._get_object)

    async def _put_object(self, request):
        await R2Bucket(self.env.ARCHIVE).put(request.params["key"], bytes(request.body))
        return json_response({"stored": request.params["key"]})

    async def _get_object(self, request):
        body = await R2Bucket(self.env.ARCHIVE).get(request.params["key"])
        if body is None:
            return json_response({"error": {"code": "not_found", "message": "no such object"}}, status=404)
        return HttpResponse(status=200, body=body.decode(), headers={"content-type": "text/plain"})
