"""Product media. Shared base: the S3 store (`store`) and image inspection and thumbnails (`images`), which the API's
uploads, the worker and the dev stack use. A part: the thumbnail worker (`worker`) and garbage collection (`gc`)."""
