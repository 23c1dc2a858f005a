"""Product media: uploaded images, presigned uploads, thumbnails and the /media route that serves them."""
