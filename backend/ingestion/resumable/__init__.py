"""Resumable uploads: an upload session takes a file in parts, in any order and in parallel,
straight to storage (presigned S3 part addresses, or signed addresses of the service for the
local folder), and is completed into a task exactly as a single-request upload is."""
