/**
 * The operator's part of the document: applications, their variants, installations and the
 * export, and metrics. Every operation here asks for the admin bearer token.
 */
import { VARIANT_TYPES } from './admin/variant-types'
import { VARIANT_SCHEMA_NAMES } from './openapi-bodies'
import { parameters, perPage, ref } from './openapi-components'
import {
  header,
  json,
  jsonBody,
  list,
  noContent,
  operation,
  pathParam,
  pushAppID,
  shared,
  variantID,
  variantType,
} from './openapi-operation'

const countHeaders =
  'With `includeDeviceCount=true`, headers `deviceCount_app_<pushApplicationID>` and ' +
  '`deviceCount_variant_<variantID>`; with `includeActivity=true`, ' +
  '`activity_app_<pushApplicationID>` and `activity_variant_<variantID>` (messages sent).'

export function applicationPaths() {
  const withCounts = [parameters.includeDeviceCount, parameters.includeActivity]
  return {
    '/rest/applications': {
      post: operation({
        id: 'createApplication',
        tag: 'Applications',
        summary: 'Create an application',
        audience: 'admin',
        body: jsonBody(ref('ApplicationCreate')),
        responses: {
          201: json('Created; masterSecret in full (as after reset only).', ref('Application'), {
            Location: header('Location'),
          }),
          409: shared('Conflict'),
        },
      }),
      get: operation({
        id: 'listApplications',
        tag: 'Applications',
        summary: 'List applications',
        audience: 'admin',
        parameters: [parameters.page, perPage(8, 25), ...withCounts],
        responses: {
          200: json(`One page of applications. ${countHeaders}`, list('Application'), {
            total: header('total'),
            Link: header('Link'),
          }),
          400: shared('BadRequest'),
        },
      }),
    },
    '/rest/applications/{pushAppID}': {
      parameters: [pushAppID],
      get: operation({
        id: 'getApplication',
        tag: 'Applications',
        summary: 'Read an application and its variants',
        audience: 'admin',
        parameters: withCounts,
        responses: {
          200: json(`The application. ${countHeaders}`, ref('Application')),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
      put: operation({
        id: 'updateApplication',
        tag: 'Applications',
        summary: 'Update name, description or developer',
        audience: 'admin',
        body: jsonBody(ref('ApplicationUpdate')),
        responses: { 204: noContent('Updated.'), 404: shared('NotFound') },
      }),
      delete: operation({
        id: 'deleteApplication',
        tag: 'Applications',
        summary: 'Delete an application with its variants, installations and metrics',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), 404: shared('NotFound') },
      }),
    },
    '/rest/applications/{pushAppID}/reset': {
      parameters: [pushAppID],
      put: operation({
        id: 'resetMasterSecret',
        tag: 'Applications',
        summary: 'Make a new masterSecret',
        audience: 'admin',
        responses: {
          200: json('The application with its new masterSecret in full.', ref('Application')),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/applications/{pushAppID}/count': {
      parameters: [pushAppID],
      get: operation({
        id: 'countInstallations',
        tag: 'Applications',
        summary: 'Count installations per variant type and per variant',
        audience: 'admin',
        responses: { 200: json('The counts.', ref('VariantCounts')), 404: shared('NotFound') },
      }),
    },
  }
}

export function variantPaths() {
  const one = [pushAppID, variantType, variantID]
  const found = { 400: shared('BadRequest'), 404: shared('NotFound') }
  const bodies = (kind: 'Create' | 'Update') =>
    VARIANT_TYPES.map((type) => ref(`${VARIANT_SCHEMA_NAMES[type]}Variant${kind}`))
  const updateBody = jsonBody(
    { anyOf: bodies('Update') },
    'Only the fields given change; the schema of the type in the path applies.',
  )
  return {
    '/rest/applications/{pushAppID}/{type}': {
      parameters: [pushAppID, variantType],
      post: operation({
        id: 'createVariant',
        tag: 'Variants',
        summary: 'Create a variant; its credentials are checked, then stored encrypted',
        audience: 'admin',
        body: jsonBody({ oneOf: bodies('Create') }, 'The schema of the type in the path applies.'),
        responses: {
          201: json('Created.', ref('Variant'), { Location: header('Location') }),
          404: shared('NotFound'),
        },
      }),
      get: operation({
        id: 'listVariants',
        tag: 'Variants',
        summary: 'List the variants of this type',
        audience: 'admin',
        responses: { 200: json('The variants.', list('Variant')), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}': {
      parameters: one,
      get: operation({
        id: 'getVariant',
        tag: 'Variants',
        summary: 'Read a variant',
        audience: 'admin',
        responses: { 200: json('The variant.', ref('Variant')), ...found },
      }),
      put: operation({
        id: 'updateVariant',
        tag: 'Variants',
        summary: 'Update a variant',
        audience: 'admin',
        body: updateBody,
        responses: { 200: json('The updated variant.', ref('Variant')), ...found },
      }),
      patch: operation({
        id: 'patchVariant',
        tag: 'Variants',
        summary: 'Update a variant, answering 204 (as UPS does for ios_token)',
        audience: 'admin',
        body: updateBody,
        responses: { 204: noContent('Updated.'), ...found },
      }),
      delete: operation({
        id: 'deleteVariant',
        tag: 'Variants',
        summary: 'Delete a variant and its installations',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}/reset': {
      parameters: one,
      put: operation({
        id: 'resetVariantSecret',
        tag: 'Variants',
        summary: 'Make a new variant secret',
        audience: 'admin',
        responses: { 200: json('The variant with its new secret.', ref('Variant')), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}/renew': {
      parameters: one,
      put: operation({
        id: 'renewVapidKeys',
        tag: 'Variants',
        summary: 'Make a new VAPID pair (web_push only; existing subscriptions stop working)',
        audience: 'admin',
        responses: {
          200: json('The variant with its new publicKey.', ref('Variant')),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
  }
}

export function installationPaths() {
  const one = [variantID, pathParam('id', 'The installation id.')]
  return {
    '/rest/applications/{variantID}/installations': {
      parameters: [variantID],
      get: operation({
        id: 'listInstallations',
        tag: 'Installations',
        summary: 'Search the installations of a variant',
        audience: 'admin',
        parameters: [parameters.page, perPage(25, 50), parameters.search],
        responses: {
          200: json('One page of installations.', list('Installation'), {
            total: header('total'),
            Link: header('Link'),
          }),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/applications/{variantID}/installations/{id}': {
      parameters: one,
      get: operation({
        id: 'getInstallation',
        tag: 'Installations',
        summary: 'Read an installation',
        audience: 'admin',
        responses: { 200: json('The installation.', ref('Installation')), 404: shared('NotFound') },
      }),
      put: operation({
        id: 'updateInstallation',
        tag: 'Installations',
        summary: 'Update an installation (not its token)',
        audience: 'admin',
        body: jsonBody(ref('InstallationUpdate')),
        responses: { 204: noContent('Updated.'), 404: shared('NotFound') },
      }),
      delete: operation({
        id: 'deleteInstallation',
        tag: 'Installations',
        summary: 'Delete an installation',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), 404: shared('NotFound') },
      }),
    },
    '/rest/export/{variantID}/installations': {
      parameters: [variantID],
      get: operation({
        id: 'exportInstallations',
        tag: 'Installations',
        summary: 'Stream every installation of a variant',
        description: 'UPS clients add a trailing slash; it is accepted.',
        audience: 'admin',
        responses: {
          200: json('A JSON array, streamed.', list('Installation'), {
            'Content-Disposition': header('ContentDisposition'),
          }),
          404: shared('NotFound'),
        },
      }),
    },
  }
}

export function metricsPaths() {
  const jobs = (description: string, name: string) => json(description, list(name))
  return {
    '/rest/metrics/messages/application/{pushAppID}': {
      parameters: [pushAppID],
      get: operation({
        id: 'listJobs',
        tag: 'Metrics',
        summary: 'The sends of an application',
        audience: 'admin',
        parameters: [parameters.page, perPage(10, 50), parameters.sort, parameters.search],
        responses: {
          200: json('One page of jobs; `search` matches the alert and criteria.', list('Job'), {
            total: header('total'),
            Link: header('Link'),
            receivers: header('receivers'),
            appOpenedCounter: header('appOpenedCounter'),
          }),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/metrics/messages/{id}': {
      parameters: [pathParam('id', 'The push message id.')],
      get: operation({
        id: 'getJob',
        tag: 'Metrics',
        summary: 'One send with its progress per variant',
        audience: 'admin',
        responses: { 200: json('The job.', ref('Job')), 404: shared('NotFound') },
      }),
    },
    '/rest/metrics/dashboard': {
      get: operation({
        id: 'dashboard',
        tag: 'Metrics',
        summary: 'Totals',
        audience: 'admin',
        responses: { 200: json('The totals.', ref('Dashboard')) },
      }),
    },
    '/rest/metrics/dashboard/warnings': {
      get: operation({
        id: 'dashboardWarnings',
        tag: 'Metrics',
        summary: 'Variants whose sends of the last 7 days had failures',
        audience: 'admin',
        responses: { 200: jobs('At most 50, most failures first.', 'VariantWarning') },
      }),
    },
    '/rest/metrics/dashboard/active': {
      get: operation({
        id: 'dashboardActive',
        tag: 'Metrics',
        summary: 'The latest sends',
        audience: 'admin',
        parameters: [parameters.count],
        responses: {
          200: jobs('Newest first.', 'ActiveJob'),
          400: shared('BadRequest'),
        },
      }),
    },
  }
}
