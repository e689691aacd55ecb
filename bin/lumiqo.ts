#!/usr/bin/env node
/** CDK entry (`cdk.json`: `npx tsx bin/lumiqo.ts`). Config: `-c stage=… -c tenant=…` or lumiqo.config.json. */
import * as cdk from 'aws-cdk-lib';
import { buildLumiqoApp } from '../lib/app';

buildLumiqoApp(new cdk.App());
