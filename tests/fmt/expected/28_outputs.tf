output "server_id" {
  value       = openstack_compute_instance_v2.web.id
  description = "The server's id"
}
output "secret" {
  value     = var.password
  sensitive = true
}
