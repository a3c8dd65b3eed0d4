"use client";
import { createAuthClient } from "better-auth/react";

// Same origin: the app serves Better Auth under /api/auth.
export const authClient = createAuthClient();
