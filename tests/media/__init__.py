"""Product media (media/, api/media/): uploads, their errors, thumbnails, the uploaded-image quality rule and gc."""
