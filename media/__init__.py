"""Product media: the S3 store, image inspection and thumbnails, the thumbnail worker, garbage collection."""
