/**
 * `npm run admin-key`: prints a new platform-admin API key for YUTRACE_ADMIN_API_KEY (production:
 * outside demo mode the gateway needs one from configuration). Keep it like a password: the gateway
 * stores only its SHA-256 hash, and nothing can show it again.
 */
import { newApiKey } from "../server/services/api-keys";

console.log(newApiKey());
